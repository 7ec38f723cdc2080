"""Every claim of the spec is found in the source it cites, in the copies the project carries.

A rule at level MUST quotes a sentence of a doc page or names a path of the AWS model; a rule at
level OBSERVED names an item of the observations. Each quote is looked for in spec/sources (with
whitespace removed: the copies broke lines where the HTML had tags), each model path in the
installed botocore's model, each observation item in spec/sources/observed-aws-behaviour.md. And
what holds at OBSERVED cites only items about its own operation and kind of request
(spec/sources/observation-tags.json): a RegisterUser answer proves nothing of UpdateUser's.
"""
import json
import shutil
from pathlib import Path

import pytest

from qsconform.spec.evidence import citations, misfiled, observation_items, observation_tags, problems
from qsconform.spec.loader import default_spec, load_spec
from qsconform.spec.model import SpecError

SPEC = default_spec()


def test_every_citation_is_found_in_its_source():
    assert len(list(citations(SPEC))) > 100
    assert problems(SPEC) == []


@pytest.mark.parametrize("spec_rule", SPEC.rules, ids=[r.id for r in SPEC.rules])
def test_a_rule_is_as_strong_as_its_evidence(spec_rule):
    rule = spec_rule
    kinds = {k for e in rule.evidence for k in ("page", "model", "observation") if k in e}
    if rule.level == "MUST":
        assert kinds & {"page", "model"}, rule.source
    elif rule.level == "OBSERVED":
        assert "observation" in kinds, rule.source


def test_nothing_points_outside_the_project():
    for op in SPEC.operations.values():
        page = (SPEC.directory / op.raw["documentation"]).resolve()
        assert page.is_file() and SPEC.directory.resolve() in page.parents
    for path in SPEC.directory.rglob("*.json"):
        assert "shared/" not in path.read_text(encoding="utf-8"), path


def edited(tmp_path: Path, edit, file: str = "operations/RegisterUser.json") -> Path:
    directory = tmp_path / "spec"
    shutil.copytree(SPEC.directory, directory, ignore=shutil.ignore_patterns("__pycache__"))
    path = directory / file
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    return directory


def _rule(doc, rule_id):
    return next(r for r in doc["rules"] + doc["response_rules"] if r["id"] == rule_id)


@pytest.mark.parametrize("edit, found", [
    (lambda d: _rule(d, "RegisterUser.restricted-roles-unavailable")["evidence"][0].update(quote="This role is available."),
     "the RegisterUser page does not say 'This role is available.'"),
    (lambda d: _rule(d, "RegisterUser.iam-forbids-username")["evidence"][0].update(observation=99),
     "there is no observation #99"),
    (lambda d: _rule(d, "RegisterUser.quicksight-requires-username")["evidence"][0].update(model="shapes/User/members/Nobody"),
     "the model has no shapes/User/members/Nobody"),
    (lambda d: _rule(d, "RegisterUser.quicksight-requires-username")["evidence"][0].update(quote="This value is never required"),
     "does not say 'This value is never required'"),
    (lambda d: d["members"]["ExternalLoginFederationProviderType"]["constraint_levels"]["enum"]["evidence"][0].update(page="Nowhere"),
     "no page Nowhere.txt"),
])
def test_a_citation_not_in_its_source_is_found_out(tmp_path, edit, found):
    found_problems = problems(load_spec(edited(tmp_path, edit)))
    assert len(found_problems) == 1 and found in found_problems[0], found_problems


def test_the_loader_refuses_a_level_stronger_than_its_evidence(tmp_path):
    def observed_without_observation(doc):
        rule = _rule(doc, "RegisterUser.iam-requires-iamarn")
        rule["evidence"] = [{"page": "RegisterUser", "quote": "The ARN of the IAM user or role"}]
    with pytest.raises(SpecError, match="iam-requires-iamarn: level OBSERVED needs evidence naming an observation"):
        load_spec(edited(tmp_path / 'a', observed_without_observation))

    def must_by_inference(doc):
        rule = _rule(doc, "RegisterUser.sessionname-needs-iam")
        rule["level"], rule["evidence"] = "MUST", [{"observation": 7}]
    with pytest.raises(SpecError, match="sessionname-needs-iam: level MUST needs evidence quoting a page"):
        load_spec(edited(tmp_path / 'b', must_by_inference))


# -- OBSERVED rests on items about the same operation and kind of request ----------------------------

def test_every_observation_item_is_tagged_and_observed_rules_cite_their_own():
    tags = observation_tags(SPEC.directory)
    assert set(tags) == set(observation_items(SPEC.directory))
    assert misfiled(SPEC) == []
    observed = [c for c in citations(SPEC) if c.level == "OBSERVED" and "observation" in c.evidence]
    assert len({c.where for c in observed}) > 10  # the check looks at something


def _lifecycle(doc, rule_id):
    return next(r for r in doc["lifecycle_rules"] if r["id"] == rule_id)


def _observed_arn(doc):
    rule = next(r for r in doc["response_rules"] if r["id"] == "UpdateUser.response.arn")
    rule["level"], rule["evidence"] = "OBSERVED", [{"observation": 1}]


def _member_answers_observed(doc):  # as the spec had it: cross-field answers (#7, #8) backing member violations
    doc["outcomes"]["invalid_value"].update(level="OBSERVED", evidence=[{"observation": 7}, {"observation": 8}])


@pytest.mark.parametrize("file, edit, found", [
    # another operation's item: a RegisterUser duplicate for UpdateUser's missing user
    ("operations/UpdateUser.json",
     lambda d: _lifecycle(d, "UpdateUser.lifecycle.missing-user-not-found").update(evidence=[{"observation": 9}]),
     "UpdateUser.lifecycle.missing-user-not-found (OBSERVED) judges lifecycle requests of UpdateUser and cites #9 "
     "(lifecycle of RegisterUser)"),
    # a RegisterUser answer for an UpdateUser answer
    ("operations/UpdateUser.json", _observed_arn,
     "UpdateUser.response.arn (OBSERVED) judges success requests of UpdateUser and cites #1 (success of RegisterUser)"),
    # another kind of request: cross-field refusals for member violations
    ("common.json", _member_answers_observed,
     "outcomes/invalid_value (OBSERVED) judges member-violation requests of RegisterUser, and cites no item about them"),
    # the tags themselves: an item said to be about what it is not
    ("sources/observation-tags.json", lambda d: d["items"]["9"].update(requests=["success"]),
     "RegisterUser.lifecycle.duplicate-refused (OBSERVED) judges lifecycle requests of RegisterUser and cites #9 "
     "(success of RegisterUser)"),
    ("sources/observation-tags.json", lambda d: d["items"].pop("12"), "observation #12 has no tags"),
])
def test_an_observed_claim_citing_an_item_of_another_operation_or_kind_is_found_out(tmp_path, file, edit, found):
    found_problems = problems(load_spec(edited(tmp_path, edit, file)))
    assert any(found in p for p in found_problems), found_problems


# -- the audit's findings, re-graded (docs/levels.md) ---------------------------------------------------

def test_what_no_source_says_the_api_accepts_is_valid_by_inference_only():
    from qsconform.spec.oracle import Oracle
    oracle = Oracle(SPEC["RegisterUser"])  # the account 123456789012, the partition aws
    role = {"AwsAccountId": "123456789012", "Namespace": "default", "Email": "a", "UserRole": "READER",
            "IdentityType": "IAM", "IamArn": "arn:aws:iam::123456789012:role/r", "SessionName": "s1"}
    login = {**role, "ExternalLoginFederationProviderType": "CUSTOM_OIDC", "ExternalLoginId": "id-1",
             "CustomFederationProviderUrl": "https://idp.example.com"}
    quicksight = {**{k: role[k] for k in ("AwsAccountId", "Namespace", "Email", "UserRole")},
                  "IdentityType": "QUICKSIGHT", "UserName": "qsc-u"}
    for certain in (role, login, {**quicksight, "Tags": [{"Key": "team:a b", "Value": "x"}]}):
        verdict = oracle.classify(certain)
        assert verdict.valid and verdict.level == "MUST", (certain, verdict)
    inferred = [{**role, "IamArn": "arn:aws:iam::999999999999:role/r"}, {**role, "IamArn": "arn:aws-cn:iam::123456789012:role/r"},
                {**login, "CustomFederationProviderUrl": "a"},
                {**{k: v for k, v in login.items() if k not in ("ExternalLoginId", "CustomFederationProviderUrl")},
                 "ExternalLoginFederationProviderType": "COGNITO"},
                {**quicksight, "Tags": [{"Key": "ÿ", "Value": "x"}]}]
    for request in inferred:
        verdict = oracle.classify(request)
        assert verdict.valid and verdict.level == "SHOULD", (request, verdict)


def test_the_audits_rules_are_as_strong_as_their_evidence():
    levels = {r.id: r.level for r in SPEC.rules}
    assert levels["UpdateUser.lifecycle.update-persists"] == "MUST"
    assert levels["UpdateUser.response.arn"] == levels["UpdateUser.response.request-id-body"] == "SHOULD"
    assert levels["RegisterUser.response.request-id-body"] == "OBSERVED"  # observed #1 is a RegisterUser answer
    assert levels["RegisterUser.error.resource-type"] == levels["UpdateUser.error.resource-type"] == "SHOULD"
    outcomes = SPEC.common["outcomes"]
    assert outcomes["invalid_value"]["level"] == "SHOULD" and "evidence" not in outcomes["invalid_value"]
    assert {SPEC.rule(r).outcome for r in ("RegisterUser.iam-requires-iamarn", "RegisterUser.iam-forbids-username")} == \
        {"invalid_combination"}
    for op in ("RegisterUser", "UpdateUser"):
        quotes = [e["quote"] for e in SPEC.rule(f"{op}.response.success-status").evidence]
        assert quotes and "If the action is successful" not in " ".join(quotes)
