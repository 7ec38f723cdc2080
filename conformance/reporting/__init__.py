"""Reporting: the compliance document, the console, the renderings, reproductions, Allure labels."""
