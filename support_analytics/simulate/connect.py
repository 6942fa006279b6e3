"""Amazon Connect contact records, as Amazon Data Firehose delivers them, for tests and benches.

Written from the published data model ("Data model for Amazon Connect contact records",
Amazon Connect admin guide): PascalCase keys, UTC ``yyyy-mm-ddThh:mm:ssZ`` timestamps, ``Agent``
null when nobody answered (an abandoned contact: ``Queue`` set), free ``Attributes`` that may
hold phone numbers. Delivery is at least once: some contacts arrive twice unchanged, some again
later with updated attributes and a greater ``LastUpdateTimestamp``. Firehose writes objects
concatenated without a delimiter (or one per line when the stream adds newlines), gzipped,
under ``YYYY/MM/dd/HH/`` keys named ``<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>.gz``.
"""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ACCOUNT = "123456789012"
INSTANCE = f"arn:aws:connect:eu-west-1:{ACCOUNT}:instance/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
QUEUES = ("Billing", "Technical", "Sales")
ISSUES = {"Billing": "billing", "Technical": "technical", "Sales": "account"}
RESOLUTIONS = ("resolved", "unresolved", "escalated")
CHANNELS = ("VOICE", "CHAT", "TASK")
TEAMS = ("Europe", "North America", "Asia Pacific")


@dataclass(frozen=True)
class ConnectWorld:
    """What one simulated contact-centre export looks like (shares are per contact)."""

    contacts: int = 200
    agents: int = 12
    start: str = "2026-03-02"
    days: int = 3
    seed: int = 11
    voice_share: float = 0.9
    abandon_share: float = 0.12
    repeat_share: float = 0.05  # delivered twice, unchanged
    update_share: float = 0.08  # delivered again later, attributes updated


def phone(rng: np.random.Generator) -> str:
    """An E.164 number in a fictional range (+1 555 01xx is reserved for fiction)."""
    return f"+1555{rng.integers(1_000_000, 9_999_999)}"


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def agent_usernames(world: ConnectWorld) -> list[str]:
    return [f"agent{i:03d}" for i in range(1, world.agents + 1)]


def agents_csv(world: ConnectWorld) -> str:
    """agents.csv for the records' ``Agent.Username`` values."""
    lines = ["agent_id,agent_name,region"]
    for i, name in enumerate(agent_usernames(world)):
        lines.append(f"{name},Agent {i + 1},{TEAMS[i % len(TEAMS)]}")
    return "\n".join(lines) + "\n"


def contact_records(world: ConnectWorld) -> list[dict[str, Any]]:
    """Every delivered copy, in delivery order (by LastUpdateTimestamp, then contact)."""
    rng = np.random.default_rng(world.seed)
    usernames = agent_usernames(world)
    start = datetime.fromisoformat(world.start).replace(tzinfo=UTC)
    copies: list[dict[str, Any]] = []
    for _ in range(world.contacts):
        record = _contact(rng, world, usernames, start)
        copies.append(record)
        draw = rng.random()
        if draw < world.repeat_share:
            copies.append(json.loads(json.dumps(record)))
        elif draw < world.repeat_share + world.update_share:
            copies.append(_updated(rng, record))
    copies.sort(key=lambda r: (r["LastUpdateTimestamp"], r["ContactId"]))
    return copies


def _contact(
    rng: np.random.Generator, world: ConnectWorld, usernames: list[str], start: datetime
) -> dict[str, Any]:
    contact_id = str(uuid.UUID(bytes=rng.bytes(16), version=4))
    begin = start + timedelta(seconds=int(rng.integers(0, world.days * 86_400)))
    channel = "VOICE" if rng.random() < world.voice_share else str(rng.choice(CHANNELS[1:]))
    queue = str(rng.choice(QUEUES))
    enqueue = begin + timedelta(seconds=int(rng.integers(5, 40)))
    waited = int(rng.integers(0, 300))
    abandoned = rng.random() < world.abandon_share
    agent = None
    if abandoned:
        end = enqueue + timedelta(seconds=waited)
        reason = "CUSTOMER_DISCONNECT"
    else:
        answered = enqueue + timedelta(seconds=waited)
        talk = int(rng.integers(30, 1_800))
        end = answered + timedelta(seconds=talk)
        reason = str(rng.choice(["CUSTOMER_DISCONNECT", "AGENT_DISCONNECT"]))
        name = str(rng.choice(usernames))
        agent = {
            "ARN": f"{INSTANCE}/agent/{name}",
            "AfterContactWorkDuration": int(rng.integers(0, 120)),
            "AgentInteractionDuration": talk,
            "ConnectedToAgentTimestamp": _ts(answered),
            "CustomerHoldDuration": int(rng.integers(0, 60)),
            "HierarchyGroups": None,
            "LongestHoldDuration": 0,
            "NumberOfHolds": 0,
            "RoutingProfile": {"ARN": f"{INSTANCE}/routing-profile/basic", "Name": "Basic"},
            "Username": name,
        }
    attributes = {
        "issue_type": ISSUES[queue],
        "callback_number": phone(rng),  # free attributes: personal data hides here
        "account_note": f"called from {phone(rng)}",
    }
    if agent is not None:
        attributes["resolution"] = str(rng.choice(RESOLUTIONS, p=[0.7, 0.2, 0.1]))
        if rng.random() < 0.4:
            attributes["csat"] = str(int(rng.integers(1, 6)))
    return {
        "AWSAccountId": ACCOUNT,
        "AWSContactTraceRecordFormatVersion": "2017-03-10",
        "Agent": agent,
        "AgentConnectionAttempts": 0 if agent is None else 1,
        "Attributes": attributes,
        "Channel": channel,
        "ConnectedToSystemTimestamp": _ts(begin),
        "ContactId": contact_id,
        "CustomerEndpoint": {"Address": phone(rng), "Type": "TELEPHONE_NUMBER"},
        "DisconnectReason": reason,
        "DisconnectTimestamp": _ts(end),
        "InitialContactId": None,
        "InitiationMethod": "INBOUND",
        "InitiationTimestamp": _ts(begin),
        "InstanceARN": INSTANCE,
        "LastUpdateTimestamp": _ts(end + timedelta(seconds=int(rng.integers(1, 90)))),
        "MediaStreams": [{"Type": "AUDIO"}],
        "NextContactId": None,
        "PreviousContactId": None,
        "Queue": {
            "ARN": f"{INSTANCE}/queue/{queue.lower()}",
            "DequeueTimestamp": _ts(enqueue + timedelta(seconds=waited)),
            "Duration": waited,
            "EnqueueTimestamp": _ts(enqueue),
            "Name": queue,
        },
        "Recording": None,
        "Recordings": None,
        "SystemEndpoint": {"Address": "+18005550100", "Type": "TELEPHONE_NUMBER"},
        "TransferCompletedTimestamp": None,
        "TransferredToEndpoint": {"Address": phone(rng), "Type": "TELEPHONE_NUMBER"}
        if rng.random() < 0.1
        else None,
    }


def _updated(rng: np.random.Generator, record: dict[str, Any]) -> dict[str, Any]:
    """The same contact delivered again after its attributes changed (a survey answered)."""
    copy = json.loads(json.dumps(record))
    last = datetime.strptime(record["LastUpdateTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
    copy["LastUpdateTimestamp"] = _ts(last + timedelta(minutes=int(rng.integers(5, 600))))
    if copy["Agent"] is not None:
        copy["Attributes"]["csat"] = str(int(rng.integers(1, 6)))
        copy["Attributes"]["resolution"] = "resolved"
    return copy


def _firehose_key(hour: str, rng: np.random.Generator, stream: str, gz: bool) -> str:
    when = datetime.strptime(hour, "%Y-%m-%dT%H").replace(minute=int(rng.integers(0, 60)))
    name = f"{stream}-1-{when:%Y-%m-%d-%H-%M-%S}-{uuid.UUID(bytes=rng.bytes(16), version=4)}"
    return f"{when:%Y/%m/%d/%H}/{name}" + (".gz" if gz else "")


def firehose_objects(
    records: list[dict[str, Any]], *, newline: bool, seed: int = 0
) -> Iterator[tuple[str, bytes]]:
    """(key without .gz, body) per delivery hour: records concatenated, or one per line."""
    rng = np.random.default_rng(seed)
    by_hour: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_hour.setdefault(record["LastUpdateTimestamp"][:13], []).append(record)
    sep = "\n" if newline else ""
    for hour, batch in by_hour.items():
        body = sep.join(json.dumps(r, separators=(",", ":")) for r in batch) + sep
        yield _firehose_key(hour, rng, "ctr-stream", False), body.encode("utf-8")


def write_firehose(
    records: list[dict[str, Any]], out_dir: Path, *, gz: bool = True, newline: bool = False
) -> list[Path]:
    """The records under ``out_dir`` in Firehose's layout; returns the files written."""
    written = []
    for key, body in firehose_objects(records, newline=newline):
        path = out_dir / (key + (".gz" if gz else ""))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(body, mtime=0) if gz else body)
        written.append(path)
    return written
