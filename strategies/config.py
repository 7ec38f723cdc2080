"""What a run tells the strategies: the account, the namespace, the run's prefix, usable IAM identities."""
from __future__ import annotations

from dataclasses import dataclass

from qsconform.spec.model import substitute
from qsconform.spec.oracle import OracleConfig

# Shapes whose values name something a server creates (a user, a role session's user):
# they always start with the run's prefix, so that a run only ever touches its own users.
PREFIXED_SHAPES = frozenset({"UserName", "RoleSessionName"})

# Shapes whose only valid value is the configured one (a request for another account is refused
# for want of permission, not for its content). Maps the shape to the StrategyConfig field.
BOUND_SHAPES = {"AwsAccountId": "account_id"}

# Shapes whose value is a user's role: a run may narrow the roles valid requests give (StrategyConfig.user_roles).
ROLE_SHAPES = frozenset({"UserRole"})

# The kinds of IAM identity an IamArn-like slot can hold, when ARNs are synthesised.
IAM_ARN_KINDS = ("user", "role")


@dataclass(frozen=True)
class StrategyConfig:
    """How to make requests for one target.

    `user_prefix` starts every user name a server could create (the runner
    makes it unique per run). `iam_arns` are real IAM user/role ARNs the run may
    register; `synthetic_iam_arns` lets a local target get well-formed ARNs of
    `account_id` instead. `live_safe` restricts requests to what is harmless on
    a real account: identities from configured ARNs only (so QUICKSIGHT alone
    without them). `update_user_names`, when set, are the existing users an
    update may name. `missing_namespace` is well formed and does not exist.
    """

    account_id: str = "123456789012"
    namespace: str = "default"
    user_prefix: str = "qsc-"
    iam_arns: tuple[str, ...] = ()
    synthetic_iam_arns: bool = True
    live_safe: bool = False
    custom_permissions_name: str | None = None
    update_user_names: tuple[str, ...] = ()
    user_roles: tuple[str, ...] = ()
    missing_namespace: str = "qsconform-missing-namespace"

    def oracle_config(self) -> OracleConfig:
        return OracleConfig(account_id=self.account_id, namespace=self.namespace,
                            custom_permissions_name=self.custom_permissions_name)

    @property
    def may_synthesise_arns(self) -> bool:
        return self.synthetic_iam_arns and not self.live_safe

    def synthetic_arn(self, kind: str, name: str) -> str:
        """A well-formed IAM ARN of this account (never sent on a live-safe run)."""
        return f"arn:aws:iam::{self.account_id}:{kind}/{name}"

    def substitute(self, value):
        """Resolve the spec's references to configuration ($config.namespace, $generated.missing_namespace)."""
        return substitute(value, lambda name: getattr(self, name))
