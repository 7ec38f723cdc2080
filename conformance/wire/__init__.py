"""The wire: targets, the transport that signs and sends, reading the answers."""
