"""One boto3 session per AWS account: the default chain, a profile, or an assumed role."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import boto3
import botocore.session
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials

from ivs_replicas.sources.ivs_realtime.exceptions import InvalidSourceInput
from ivs_replicas.sources.ivs_realtime.settings import SECTION

ROLE_SESSION_NAME = "ivs-replicas"
STS_REGION = "us-east-1"
ACCOUNT_KEYS = ("account_id", "role_arn", "external_id", "profile_name")
ACCOUNT_ID = re.compile(r"\d{12}")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")


@dataclass(frozen=True)
class Account:
    """How to reach one account: a role to assume and/or a named profile."""

    account_id: str
    role_arn: str | None = None
    external_id: str | None = None
    profile_name: str | None = None


def parse_accounts(entries: Sequence[Mapping[str, Any]] | None) -> dict[str, Account]:
    """Accounts from `[[sources.ivs_realtime.accounts]]`, every bad entry named."""
    accounts: dict[str, Account] = {}
    problems: list[str] = []
    for index, entry in enumerate(entries or []):
        where = f"{SECTION} accounts[{index}]"
        if not isinstance(entry, Mapping):
            problems.append(f"{where}: expected a table")
            continue
        problems += [f"{where}: unknown key {key!r}" for key in entry if key not in ACCOUNT_KEYS]
        account_id = str(entry.get("account_id", ""))
        role_arn = entry.get("role_arn")
        if not ACCOUNT_ID.fullmatch(account_id):
            problems.append(f"{where}: account_id must be 12 digits, got {account_id!r}")
        if role_arn is not None and not ROLE_ARN.fullmatch(str(role_arn)):
            problems.append(f"{where}: role_arn {role_arn!r} is not an IAM role ARN")
        accounts[account_id] = Account(
            account_id, role_arn, entry.get("external_id"), entry.get("profile_name")
        )
    if problems:
        raise InvalidSourceInput(f"bad accounts in {SECTION}", problems)
    return accounts


class AccountSessions:
    """Hands out a boto3 session per account; assumed-role credentials refresh themselves."""

    def __init__(self, base: Callable[[], boto3.Session], accounts: Mapping[str, Account]) -> None:
        self._base = base
        self._accounts = accounts
        self._sessions: dict[str | None, boto3.Session] = {}
        self._lock = threading.Lock()

    @property
    def account_ids(self) -> tuple[str | None, ...]:
        """Accounts to list stages in: the configured ones, or the default credentials' own."""
        return tuple(self._accounts) or (None,)

    def __call__(self, account_id: str | None) -> boto3.Session:
        """The session for an account, created once."""
        with self._lock:
            if account_id not in self._sessions:
                self._sessions[account_id] = self._create(self._accounts.get(account_id or ""))
            return self._sessions[account_id]

    def _create(self, account: Account | None) -> boto3.Session:
        """Default chain, a profile, or a role assumed from either."""
        if account is None:
            return self._base()
        source = (
            boto3.Session(profile_name=account.profile_name)
            if account.profile_name
            else self._base()
        )
        if not account.role_arn:
            return source
        extra: dict[str, Any] = {"RoleSessionName": ROLE_SESSION_NAME}
        if account.external_id:
            extra["ExternalId"] = account.external_id
        fetcher = AssumeRoleCredentialFetcher(
            client_creator=partial(
                source._session.create_client, region_name=source.region_name or STS_REGION
            ),
            source_credentials=source.get_credentials(),
            role_arn=account.role_arn,
            extra_args=extra,
        )
        core = botocore.session.get_session()
        core._credentials = DeferredRefreshableCredentials(  # type: ignore[attr-defined]
            method="assume-role", refresh_using=fetcher.fetch_credentials
        )
        return boto3.Session(botocore_session=core)
