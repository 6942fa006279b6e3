"""agents.csv read and checked (etl/agents.py): what it tolerates, what it refuses and where."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from support_analytics import schema as s
from support_analytics.errors import InputError
from support_analytics.etl import clean_calls, load_agents


def test_agents_csv_with_bom_quotes_and_extra_columns_loads(tmp_path: Path) -> None:
    path = tmp_path / "agents.csv"
    path.write_bytes(b'\xef\xbb\xbfagent_id,team,agent_name,region\r\nA1,x,"Doe, J",Europe\r\n\r\n')
    agents = load_agents(path)
    assert agents.to_dict("records") == [
        {s.AGENT_ID: "A1", s.AGENT_NAME: "Doe, J", s.REGION: "Europe"}
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("agent_id,agent_name\nA1,Jo\n", "missing column"),
        ("agent_id,agent_name,region\nA1,Jo,EU\nA1,Al,EU\n", "duplicate agent_id 'A1'"),
        ("agent_id,agent_name,region\n,Jo,EU\n", "has no agent_id"),
        ("", "empty"),
        (f"agent_id,agent_name,region\nA1,{'n' * 101},EU\n", "row 2: agent_name is 101 char"),
        (f"agent_id,agent_name,region\nA1,Jo,{'r' * 101}\n", "row 2: region is 101 char"),
        (f"agent_id,agent_name,region\n{'a' * 257},Jo,EU\n", "row 2: agent_id is 257 char"),
        ("agent_id,agent_name,region\n\nA1,Jo,EU\nA1,Al,EU\n", "on rows 3 and 4"),
        ('agent_id,agent_name,region\nA1,Jo,EU\nA2,"Al,EU\nA3,Li,EU\n', "at line 3"),
    ],
)
def test_bad_agents_csv_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "agents.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        load_agents(path)


@pytest.mark.parametrize(
    ("blank_lines", "line"), [(0, 3), (3, 6)], ids=["no_blank_lines", "three_blank_lines"]
)
def test_an_unclosed_quote_is_reported_on_the_line_it_opens(
    tmp_path: Path, blank_lines: int, line: int
) -> None:
    later = "".join(f"A{i},Name {i},EU\n" for i in range(3, 40))
    path = tmp_path / "agents.csv"
    path.write_text(
        "agent_id,agent_name,region\nA1,Jo,EU\n" + "\n" * blank_lines + 'A2,"Li,EU\n' + later
    )
    with pytest.raises(InputError, match=f"not valid CSV at line {line} .*close the quote"):
        load_agents(path)


def test_values_at_their_cap_are_taken_whole(tmp_path: Path) -> None:
    name, region = "\u00e9" * s.MAX_NAME_LENGTH, "r" * s.MAX_NAME_LENGTH
    path = tmp_path / "agents.csv"
    path.write_text(f"agent_id,agent_name,region\n{'a' * s.MAX_ID_LENGTH},{name},{region}\n")
    assert load_agents(path).to_dict("records") == [
        {s.AGENT_ID: "a" * s.MAX_ID_LENGTH, s.AGENT_NAME: name, s.REGION: region}
    ]


def test_clean_calls_refuses_an_agents_frame_with_an_over_long_name() -> None:
    agents = pd.DataFrame({s.AGENT_ID: ["A1"], s.AGENT_NAME: ["n" * 101], s.REGION: ["EU"]})
    frame = pd.DataFrame({s.CALL_ID: ["A"], s.START_TIME: ["x"], s.END_TIME: ["y"]})
    with pytest.raises(InputError, match="agent_name is 101 characters long"):
        clean_calls(frame, agents)
