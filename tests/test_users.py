"""One definition of "the user is gone", used by the run's cleanup, compare and sweep."""
import pytest
from requests.structures import CaseInsensitiveDict

from qsconform.conformance.engine.users import gone
from qsconform.conformance.wire.protocol import Answer
from qsconform.spec.loader import default_spec


def answer(status, error_type=None, body=b"{}", content_type="application/json"):
    headers = {"Content-Type": content_type, **({"X-Amzn-ErrorType": error_type} if error_type else {})}
    return Answer(status=status, headers=CaseInsensitiveDict(headers), body=body, elapsed=0.0,
                    protocol=default_spec().protocol)


@pytest.mark.parametrize("response, is_gone", [
    (answer(200), True), (answer(204, body=b""), True),
    (answer(404, "ResourceNotFoundException", b'{"Message": "no such user"}'), True),
    # A bare 404 page: the server's router did not read the name (moto with some names); the user may stay.
    (answer(404, None, b"<html>Not Found</html>", "text/html"), False),
    (answer(400, "InvalidParameterValueException"), False), (answer(500, "InternalFailureException"), False),
])
def test_gone(response, is_gone):
    assert gone(response) is is_gone
