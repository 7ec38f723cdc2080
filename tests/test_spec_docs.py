"""The spec against the text of the AWS documentation pages it cites (spec/sources, copied with the project).

Every value is read from the spec and looked for in the page: the request line and members of the Request
Syntax, each member's Required, Type, Length Constraints, Array Members, Pattern and Valid Values, the
response members, and each error with its HTTP Status Code. Where the spec records a deviation from the
page, the deviation's "doc" value is the one looked for.

The pages are text copies of the HTML reference pages, and some lost their member and error headings
(UpdateUser.txt has none). The API reference lays out members required first, then optional, each in
name order, and errors in name order; sections are matched to names in that order, and every heading a
page kept, every Required line and every error description known from another page checks the match.
"""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from functools import cached_property

import pytest

from qsconform.spec.loader import default_spec, load_spec
from qsconform.spec import SPEC_DIR

SPEC = default_spec()
OPERATIONS = sorted(SPEC.operations)

DOC_TYPES = {"String": "string", "Boolean": "boolean", "Integer": "integer"}


# -- reading a page ---------------------------------------------------------------------

def _between(text: str, start: str, end: str) -> str:
    """The text after the line matching `start` and before the line matching `end`."""
    begin = re.search(start, text, re.M)
    assert begin, f"no {start!r} in the page"
    finish = re.search(end, text[begin.end():], re.M)
    assert finish, f"no {end!r} after {start!r} in the page"
    return text[begin.end():begin.end() + finish.start()]


def _split_after(section: str, closing: str) -> list[str]:
    """The section cut after each line matching `closing`; what follows the last one is dropped."""
    ends = [m.end() for m in re.finditer(closing, section, re.M)]
    return [section[a:b] for a, b in zip([0] + ends, ends)]


def _heading(block: str) -> str | None:
    """The name heading a block ('- UserName' on its own line), where the page kept it."""
    m = re.search(r"^- (\w+)\s*$", block, re.M)
    return m.group(1) if m else None


def _top_level_keys(syntax: str) -> list[str]:
    """The member names at the top level of the JSON object in a Request or Response Syntax."""
    keys, depth = [], 0
    for m in re.finditer(r'[{}\[\]]|"(\w+)"\s*:', syntax):
        token = m.group(0)
        if token in "{[":
            depth += 1
        elif token in "}]":
            depth -= 1
        elif depth == 1:
            keys.append(m.group(1))
    return keys


def _object_keys(syntax: str, member: str) -> list[str]:
    """The member names of the object a top-level member of a syntax holds."""
    start = syntax.index(f'"{member}"')
    return _top_level_keys(syntax[syntax.index("{", start):])


def _has_token(text: str, value: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(value)}(?![A-Za-z0-9_])", text) is not None


def _normal(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class MemberText:
    """What a page says about one request member."""

    name: str  # the heading where the page kept it, else the name the reference's order puts here
    block: str
    heading: str | None
    order_name: str

    def line(self, label: str) -> str | None:
        m = re.search(rf"{label}:\s*(.+)", self.block)
        return m.group(1).strip() if m else None

    @property
    def required(self) -> bool | None:
        value = self.line("Required")
        return None if value is None else value == "Yes"

    @property
    def type(self) -> str | None:
        value = self.line("Type")
        if value is None:
            return None
        return "list" if value.startswith("Array of") else DOC_TYPES.get(value, value)

    @property
    def pattern(self) -> str | None:
        return self.line("Pattern")

    @property
    def lengths(self) -> tuple[int | None, int | None]:
        text = self.line("Length Constraints") or ""
        fixed = re.search(r"Fixed length of (\d+)", text)
        if fixed:
            return int(fixed.group(1)), int(fixed.group(1))
        return _bound(text, r"Minimum length of (\d+)"), _bound(text, r"Maximum length of (\d+)")

    @property
    def items(self) -> tuple[int | None, int | None]:
        text = self.line("Array Members") or ""
        return _bound(text, r"Minimum number of (\d+) items?"), _bound(text, r"Maximum number of (\d+) items?")

    @property
    def valid_values(self) -> list[str] | None:
        value = self.line("Valid Values")
        return None if value is None else [v.strip() for v in value.split("|")]


def _bound(text: str, pattern: str) -> int | None:
    m = re.search(pattern, text)
    return int(m.group(1)) if m else None


@dataclass(frozen=True)
class ErrorText:
    name: str  # the heading where the page kept it, else the name the reference's order puts here
    heading: str | None
    order_name: str
    status: int
    description: str


def _doc_order(members) -> list[str]:
    """Required members first, then optional ones, each in name order: the API reference's layout."""
    return [m.name for m in sorted(members, key=lambda m: (not m.required, m.name))]


class Page:
    def __init__(self, text: str):
        self.text = text

    @classmethod
    def of(cls, op) -> "Page":
        return cls((SPEC.directory / op.raw["documentation"]).read_text(encoding="utf-8"))

    @cached_property
    def request_syntax(self) -> str:
        return _between(self.text, r"^Request Syntax\s*$", r"^URI Request Parameters\s*$")

    @cached_property
    def response_syntax(self) -> str:
        return _between(self.text, r"^Response Syntax\s*$", r"^Response Elements\s*$")

    @cached_property
    def request_line(self) -> tuple[str, str]:
        m = re.search(r"\b(GET|POST|PUT|DELETE|PATCH)\s+(/.*?)\s+HTTP/1\.1", self.request_syntax, re.S)
        assert m, "no request line in the Request Syntax"
        return m.group(1), re.sub(r"\s+", "", m.group(2))

    def members(self, op) -> dict[str, MemberText]:
        """Each request member's section, by its heading, or where the page lost it, by the reference's order."""
        found = {}
        sections = [
            (_between(self.text, r"^URI Request Parameters\s*$", r"^Request Body\s*$"), op.uri_members),
            (_between(self.text, r"^Request Body\s*$", r"^Response Syntax\s*$"), op.body_members),
        ]
        for section, members in sections:
            blocks = _split_after(section, r"^Required: (Yes|No)\s*$")
            names = _doc_order(members)
            assert len(blocks) == len(names), f"{len(blocks)} member sections in the page, {len(names)} in the spec"
            for name, block in zip(names, blocks):
                text = MemberText(_heading(block) or name, block, _heading(block), name)
                found[text.name] = text
        return found

    def errors(self, op) -> list[ErrorText]:
        section = _between(self.text, r"^For information about the errors that are common to all actions.*$",
                           r"^See Also\s*$")
        names = sorted(op.raw["errors"])
        blocks = _split_after(section, r"^HTTP Status Code: \d+\s*$")
        assert len(blocks) == len(names), f"{len(blocks)} errors in the page, {len(names)} in the spec"
        errors = []
        for name, block in zip(names, blocks):
            status = int(re.search(r"HTTP Status Code: (\d+)", block).group(1))
            heading = _heading(block)
            body = block[:block.index("HTTP Status Code")]
            body = re.sub(r"^- \w+\s*$|^-\s*$", "", body, flags=re.M)
            errors.append(ErrorText(heading or name, heading, name, status, _normal(body)))
        return errors


PAGES = {name: Page.of(SPEC[name]) for name in OPERATIONS}


# -- what the page should say, read from the spec ------------------------------------------

def _deviation(op, member: str, constraint: str) -> dict | None:
    return next((d for d in op.raw.get("deviations", []) if d["member"] == member and d["constraint"] == constraint),
                None)


def _doc_value(op, member, constraint: str):
    """The value the page should give: the deviation's doc value where the spec records one, else the spec's."""
    deviation = _deviation(op, member.name, constraint)
    return deviation["doc"] if deviation else member.constraints.get(constraint)


def member_disagreements(op, member, text: MemberText) -> list[str]:
    """Where the page's section of a member says something other than the spec."""
    found = []

    def differ(what, spec_value, page_value):
        if spec_value != page_value:
            found.append(f"{op.name}.{member.name}.{what}: spec {spec_value!r}, page {page_value!r}")

    differ("required", member.required, text.required)
    if text.type is not None:  # URI parameters have no Type line
        differ("type", member.type, text.type)
    differ("pattern", _doc_value(op, member, "pattern"), text.pattern)
    differ("length", (_doc_value(op, member, "min_length"), _doc_value(op, member, "max_length")), text.lengths)
    differ("items", (_doc_value(op, member, "min_items"), _doc_value(op, member, "max_items")), text.items)
    enum = _doc_value(op, member, "enum")
    if enum is not None:
        if text.valid_values is not None:
            differ("enum", sorted(enum), sorted(text.valid_values))
        candidates = set(enum) | set(member.constraints.get("enum", ()))
        differ("enum", sorted(enum), sorted(v for v in candidates if _has_token(text.block, v)))
    elif text.valid_values is not None:
        differ("enum", None, text.valid_values)
    return found


def _known_descriptions() -> dict[str, str]:
    """Error descriptions from the pages that kept their error headings, by error name."""
    known = {}
    for name, page in PAGES.items():
        for error in page.errors(SPEC[name]):
            if error.heading is not None:
                known.setdefault(error.heading, error.description)
    return known


def error_disagreements(op, page: Page, known: dict[str, str]) -> list[str]:
    found = []
    on_page = [e.name for e in page.errors(op)]
    found += [f"{op.name}.errors: the spec lists {n}, the page does not" for n in op.raw["errors"] if n not in on_page]
    for error in page.errors(op):
        if error.name not in op.raw["errors"]:
            found.append(f"{op.name}.errors: the page lists {error.name}, the spec's operation does not")
            continue
        if error.heading is None and known.get(error.name) != error.description:
            found.append(f"{op.name}.errors.{error.name}: the page's error is not described as {error.name} is "
                         f"elsewhere ({error.description!r})")
        if error.status not in op.common["errors"][error.name]["status"]:
            found.append(f"{op.name}.errors.{error.name}: page status {error.status}, "
                         f"spec {op.common['errors'][error.name]['status']}")
    return found


def syntax_disagreements(op, page: Page) -> list[str]:
    """The request line (URI members are its labels) and the body members of the Request Syntax."""
    found = []
    method, path = page.request_line
    if (op.http["method"], re.sub(r"[{}]", "", op.http["uri"])) != (method, path):
        found.append(f"{op.name}.http: spec {op.http['method']} {op.http['uri']}, page {method} {path}")
    body = sorted(_top_level_keys(page.request_syntax))
    if body != sorted(m.name for m in op.body_members):
        found.append(f"{op.name}.body members: spec {sorted(m.name for m in op.body_members)}, page {body}")
    return found


# -- today's spec against the pages ---------------------------------------------------------

@pytest.mark.parametrize("operation", OPERATIONS)
def test_request_line_and_member_names(operation):
    assert syntax_disagreements(SPEC[operation], PAGES[operation]) == []


@pytest.mark.parametrize("operation,member", [(o, m) for o in OPERATIONS for m in SPEC[o].members])
def test_each_member_as_the_page_describes_it(operation, member):
    op = SPEC[operation]
    text = PAGES[operation].members(op)[member]
    assert member_disagreements(op, op.members[member], text) == []


@pytest.mark.parametrize("operation", OPERATIONS)
def test_errors_and_their_status_codes(operation):
    assert error_disagreements(SPEC[operation], PAGES[operation], _known_descriptions()) == []


def test_the_member_sections_are_matched_by_headings_where_pages_kept_them():
    # The order-based matching is only trusted because some page proves it with its headings.
    matched = [t for name in OPERATIONS for t in PAGES[name].members(SPEC[name]).values() if t.heading]
    assert len(matched) >= 10
    assert [t.heading for t in matched] == [t.order_name for t in matched]
    errors = [e for name in OPERATIONS for e in PAGES[name].errors(SPEC[name]) if e.heading]
    assert len(errors) >= 5
    assert [e.heading for e in errors] == [e.order_name for e in errors]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_response_members(operation):
    op, page = SPEC[operation], PAGES[operation]
    body_members = sorted(n for n, m in op.raw["response"]["members"].items() if "location" not in m)
    assert sorted(_top_level_keys(page.response_syntax)) == body_members
    user_shape = op.raw["response"]["members"]["User"]["shape"]
    assert sorted(_object_keys(page.response_syntax, "User")) == sorted(op.shapes[user_shape]["members"])


def test_update_user_page_lists_three_roles_and_the_spec_records_it():
    op = SPEC["UpdateUser"]
    role = PAGES["UpdateUser"].members(op)["Role"]
    model_roles = op.members["Role"].constraints["enum"]
    on_page = sorted(v for v in model_roles if _has_token(role.block, v))
    assert len(on_page) < len(model_roles)  # the page names fewer roles than the spec takes
    deviation = _deviation(op, "Role", "enum")
    assert deviation is not None, "UpdateUser.Role: the page lists fewer roles than the spec, and no deviation says so"
    assert sorted(deviation["doc"]) == on_page
    assert sorted(deviation["model"]) == sorted(model_roles)


# -- every check can fail -------------------------------------------------------------------

def _changed_spec(tmp_path, file, change):
    directory = tmp_path / "spec"
    shutil.copytree(SPEC_DIR, directory, ignore=shutil.ignore_patterns("__pycache__"))
    path = directory / file
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return load_spec(directory)


def _all_disagreements(spec) -> list[str]:
    pages = {name: Page(PAGES[name].text) for name in spec.operations}
    known = _known_descriptions()
    found = []
    for name, op in spec.operations.items():
        found += syntax_disagreements(op, pages[name])
        texts = pages[name].members(op)
        for member in op.members.values():
            if member.name in texts:
                found += member_disagreements(op, member, texts[member.name])
            else:
                found.append(f"{name}.{member.name}: no section of the page")
        found += error_disagreements(op, pages[name], known)
    return found


R, U = "operations/RegisterUser.json", "operations/UpdateUser.json"


def _swap(items, old, new):
    items[items.index(old)] = new


@pytest.mark.parametrize("file,change,expected", [
    ("shapes.json", lambda d: d["shapes"]["RoleSessionName"].update(max_length=63),
     ["RegisterUser.SessionName.length: spec (2, 63), page (2, 64)"]),
    ("shapes.json", lambda d: d["shapes"]["TagList"].update(max_items=199),
     ["RegisterUser.Tags.items: spec (1, 199), page (1, 200)"]),
    ("shapes.json", lambda d: d["shapes"]["Namespace"].update(pattern="^[a-z]*$"),
     ["RegisterUser.Namespace.pattern: spec '^[a-z]*$', page '^[a-zA-Z0-9._-]*$'",
      "UpdateUser.Namespace.pattern: spec '^[a-z]*$', page '^[a-zA-Z0-9._-]*$'"]),
    ("shapes.json", lambda d: d["shapes"]["IdentityType"]["enum"].append("SAML"),
     ["RegisterUser.IdentityType.enum: spec ['IAM', 'IAM_IDENTITY_CENTER', 'QUICKSIGHT', 'SAML'], "
      "page ['IAM', 'IAM_IDENTITY_CENTER', 'QUICKSIGHT']",
      "RegisterUser.IdentityType.enum: spec ['IAM', 'IAM_IDENTITY_CENTER', 'QUICKSIGHT', 'SAML'], "
      "page ['IAM', 'IAM_IDENTITY_CENTER', 'QUICKSIGHT']"]),
    (U, lambda d: d["deviations"].pop(1),
     ["UpdateUser.Role.enum: spec ['ADMIN', 'ADMIN_PRO', 'AUTHOR', 'AUTHOR_PRO', 'READER', 'READER_PRO', "
      "'RESTRICTED_AUTHOR', 'RESTRICTED_READER'], page ['ADMIN', 'AUTHOR', 'READER']"]),
    (U, lambda d: d["deviations"][0]["doc"].remove("NONE"),
     ["UpdateUser.ExternalLoginFederationProviderType.enum: spec ['COGNITO', 'CUSTOM_OIDC'], "
      "page ['COGNITO', 'CUSTOM_OIDC', 'NONE']"]),
    (R, lambda d: d["members"]["IamArn"].update(required=True),
     ["RegisterUser.IamArn.required: spec True, page False"]),
    (R, lambda d: d["members"]["Email"].update(shape="Boolean"),
     ["RegisterUser.Email.type: spec 'boolean', page 'string'"]),
    ("common.json", lambda d: d["errors"]["AccessDeniedException"].update(status=[403]),
     ["RegisterUser.errors.AccessDeniedException: page status 401, spec [403]",
      "UpdateUser.errors.AccessDeniedException: page status 401, spec [403]"]),
    (U, lambda d: d["http"].update(method="POST"),
     ["UpdateUser.http: spec POST /accounts/{AwsAccountId}/namespaces/{Namespace}/users/{UserName}, "
      "page PUT /accounts/AwsAccountId/namespaces/Namespace/users/UserName"]),
    (U, lambda d: _swap(d["errors"], "PreconditionNotMetException", "LimitExceededException"),
     ["UpdateUser.errors.LimitExceededException: the page's error is not described as LimitExceededException is "
      "elsewhere (\"One or more preconditions aren't met.\")",
      "UpdateUser.errors.LimitExceededException: page status 400, spec [409]"]),
    (R, lambda d: _swap(d["errors"], "ResourceExistsException", "ValidationException"),
     ["RegisterUser.errors: the spec lists ValidationException, the page does not",
      "RegisterUser.errors: the page lists ResourceExistsException, the spec's operation does not"]),
], ids=["length", "items", "pattern", "enum", "role-deviation", "deviation-doc", "required", "type", "status",
        "method", "error-by-description", "error-by-heading"])
def test_a_spec_changed_against_the_page_is_caught(tmp_path, file, change, expected):
    assert _all_disagreements(_changed_spec(tmp_path, file, change)) == expected


def test_todays_spec_agrees_with_the_pages():
    assert _all_disagreements(SPEC) == []
