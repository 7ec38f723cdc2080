"""What a run knows about the users on a target: whether an answer means a user is gone."""
from __future__ import annotations


def gone(response) -> bool:
    """A DeleteUser (or DescribeUser) answer that leaves no user behind: success, or the AWS not-found
    error. A bare 404 page is not one: moto answers it for a name its router cannot read, and the user stays."""
    return 200 <= response.status < 300 or response.error_type == "ResourceNotFoundException"
