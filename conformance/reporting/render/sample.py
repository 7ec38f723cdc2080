"""A synthetic compliance document: every status and category, failures and advisories whose evidence is
hostile (markup, pipes, line breaks, control characters, non-ASCII, fence and CDATA breakers), as a
target could answer. The renderers' tests are built on it; `python -m qsconform.conformance.reporting.render --sample DIR`
renders it for a look.
"""
from __future__ import annotations

import copy

from qsconform.conformance.reporting.render.common import STATUSES

HOSTILE = "<script>alert(1)</script> | pipe\nnew line \x07 bell é ``` </details> ]]> &amp; back\\|slash"


def _rule(rule_id, operation, category, level, status, message="", examples=0, failures=0, seconds=0.0,
          example=None, source="RegisterUser.txt: UserName pattern [\\w+=,.@-]+"):
    return {"id": rule_id, "operation": operation, "category": category, "level": level, "source": source,
            "status": status, "message": message, "examples": examples, "failures": failures,
            "seconds": seconds, "example": example}


def _example(operation, path_params, body, status, response_body, message, seed=123, minimal=True, raw_body=None,
             level="MUST"):
    request = {"operation": operation, "path_params": path_params,
               "expected": {"kind": "error", "rule_id": None, "answers": [[400, "InvalidParameterValueException"]],
                            "operator": ""}}
    if raw_body is not None:
        request["raw_body"] = raw_body
    else:
        request["body"] = body
    return {"message": message, "level": level,
            "request": request,
            "response": {"status": status, "headers": {"Content-Type": "application/json",
                                                       "x-amzn-RequestId": "req-1", "X-Evil": "<b>bold</b>"},
                         "body": response_body},
            "curl": ("curl --include --silent --show-error --path-as-is -X POST "
                     "http://127.0.0.1:5000/accounts/123456789012/namespaces/default/users "
                     "--aws-sigv4 aws:amz:us-east-1:quicksight --user \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\" "
                     "-H 'Content-Type: application/json' --data-binary '{\"UserName\":\"é|<x>\"}'"),
            "seed": seed, "minimal": minimal}


_PATH = {"AwsAccountId": "123456789012", "Namespace": "default"}

_RULES = [
    # RegisterUser: 4 passed, 3 failed, 1 advisory, 1 inconclusive, 1 unsupported, 1 skipped, 1 unsent, 1 deselected
    _rule("RegisterUser.UserName.pattern", "RegisterUser", "constraint", "MUST", "failed",
          message="accepted with 200 " + HOSTILE, examples=8, failures=2, seconds=0.4,
          example=_example("RegisterUser", _PATH, {"UserName": "é|<x>", "Email": "a@b"}, 200,
                           '{"User": {"UserName": "<script>alert(1)</script>", "Note": "pipe | and ``` fence\\n"}}'
                           "</script><!-- \x07\n```\n</details>\n| a | b |",
                           "accepted with 200 " + HOSTILE)),
    _rule("RegisterUser.UserName.max_length", "RegisterUser", "constraint", "MUST", "passed", examples=10, seconds=0.2),
    _rule("RegisterUser.Email.required", "RegisterUser", "constraint", "MUST", "passed", examples=5, seconds=0.1),
    _rule("RegisterUser.IamArn.iam-requires-arn", "RegisterUser", "cross-field", "MUST", "failed",
          message="answered 500 InternalFailure; expected one of: 400 InvalidParameterValueException",
          examples=4, failures=4, seconds=0.3,
          example=_example("RegisterUser", _PATH, None, 500, "", "answered 500 InternalFailure", minimal=False,
                           raw_body="{not json")),
    _rule("RegisterUser.protocol.body-not-json", "RegisterUser", "protocol", "MUST", "passed", examples=3, seconds=0.1),
    _rule("RegisterUser.response.content_type", "RegisterUser", "response", "OBSERVED", "failed",
          message="Content-Type text/html; charset=utf-8, expected application/json", examples=6, failures=6,
          seconds=0.2, example=None),
    _rule("RegisterUser.response.request_id_header", "RegisterUser", "response", "SHOULD", "passed", examples=6),
    _rule("RegisterUser.error.error_body", "RegisterUser", "error-shape", "MUST", "unsupported",
          message="the target does not offer RegisterUser"),
    _rule("RegisterUser.lifecycle.duplicate-refused", "RegisterUser", "lifecycle", "OBSERVED", "inconclusive",
          message="inconclusive: still throttled after retries"),
    _rule("RegisterUser.Tags.min_items", "RegisterUser", "constraint", "MUST", "skipped",
          message="needs configuration this run lacks (e.g. --iam-arn on a live target)"),
    _rule("RegisterUser.Tags[].Key.max_length", "RegisterUser", "constraint", "MUST", "deselected"),
    # A MUST rule kept in all but what an inference names: the exact error type. Advisory, and its example says SHOULD.
    _rule("RegisterUser.Email.max_length", "RegisterUser", "constraint", "MUST", "advisory",
          message="answered 400 ValidationException; the inferred error type is InvalidParameterValueException "
                  "<i>" + "|",
          examples=9, failures=1, seconds=0.2,
          example=_example("RegisterUser", _PATH, {"UserName": "x", "Email": "a" * 300}, 400,
                           '{"__type": "ValidationException", "message": "<b>too long</b>"}',
                           "answered 400 ValidationException", level="SHOULD")),
    _rule("RegisterUser.role-arn-needs-sessionname", "RegisterUser", "cross-field", "SHOULD", "unsent",
          message="not sent: what the real API does with a role ARN and no SessionName has not been seen"),
    # UpdateUser: 2 passed, 1 failed, 1 advisory
    _rule("UpdateUser.Role.enum", "UpdateUser", "constraint", "MUST", "passed", examples=7, seconds=0.3),
    _rule("UpdateUser.Email.required", "UpdateUser", "constraint", "MUST", "passed", examples=7, seconds=0.3),
    _rule("UpdateUser.lifecycle.missing-user-not-found", "UpdateUser", "lifecycle", "OBSERVED", "failed",
          message="answered 400 ResourceNotFoundException; expected one of: 404 ResourceNotFoundException",
          examples=3, failures=3, seconds=0.1,
          example=_example("UpdateUser", dict(_PATH, UserName="qsc-1a2b3c4d-missing-0"), {"Email": "a", "Role": "ADMIN"},
                           400, '{"__type": "ResourceNotFoundException", "message": "User not found"}',
                           "answered 400 ResourceNotFoundException", seed=123, level="OBSERVED")),
    _rule("UpdateUser.response.request-id-header", "UpdateUser", "response", "SHOULD", "advisory",
          message="no x-amzn-RequestId header in the answer", examples=7, failures=7, seconds=0.1,
          example=_example("UpdateUser", dict(_PATH, UserName="qsc-1a2b3c4d-u-0"), {"Email": "a@b", "Role": "READER"},
                           200, '{"User": {"UserName": "qsc-1a2b3c4d-u-0"}, "Status": 200}',
                           "no x-amzn-RequestId header in the answer", seed=77, minimal=False, level="SHOULD")),
]
del _RULES[-1]["example"]["response"]["headers"]["x-amzn-RequestId"]  # what the advisory above is about
# What the server the run started logged while answering (embedded moto's traceback of a crash), hostile too.
_RULES[0]["example"]["server_log"] = [
    'INFO werkzeug: 127.0.0.1 - - [23/Nov/2026 07:00:01] "POST /accounts/123456789012/namespaces/default/users '
    'HTTP/1.1" 500 -', "ERROR werkzeug: Error on request:", "Traceback (most recent call last):",
    *(f'  File "/site-packages/moto/core/responses.py", line {n}, in dispatch' for n in range(100, 160)),
    "json.decoder.JSONDecodeError: " + HOSTILE]
# Examples written since the run records the request line as it sends it (the others are read off their curl line).
for _rule_entry in _RULES:
    _example_entry = _rule_entry.get("example")
    if _example_entry and _rule_entry["operation"] == "UpdateUser":
        _name = _example_entry["request"]["path_params"]["UserName"]
        _example_entry["request"].update(method="PUT", path=f"/accounts/123456789012/namespaces/default/users/{_name}",
                                         headers={"Content-Type": "application/json"})


def _summary(rules: list[dict]) -> dict:
    total: dict[str, int] = dict.fromkeys(STATUSES, 0)
    operations: dict[str, dict[str, int]] = {}
    for rule in rules:
        total[rule["status"]] += 1
        operations.setdefault(rule["operation"], dict.fromkeys(STATUSES, 0))[rule["status"]] += 1
    return {"total": total, "operations": operations}


def sample_document() -> dict:
    """A fresh copy (callers may change it)."""
    rules = copy.deepcopy(_RULES)
    return {"schema_version": 1,
            "target": {"name": "moto", "endpoint": "http://127.0.0.1:5000", "region": "us-east-1",
                       "account_id": "123456789012", "live": False, "namespace": "default",
                       "user_prefix": "qsc-1a2b3c4d-", "unsupported_operations": {}, "users_left_behind": []},
            "seed": 123, "profile": "quick", "strict": False,
            "versions": {"spec": "0123456789ab", "qsconform": "0.1.0", "hypothesis": "6.155.2",
                         "botocore": "1.43.11", "moto": "5.2.1"},
            "started": "2026-11-23T07:00:00Z", "seconds": 12.3,
            "summary": _summary(rules),
            "rules": rules}
