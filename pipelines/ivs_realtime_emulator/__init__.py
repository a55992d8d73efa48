"""A local Amazon IVS Real-Time endpoint that real boto3 clients talk to over loopback HTTP."""

from ivs_realtime_emulator.faults import Faults, FaultsError
from ivs_realtime_emulator.generate import generate_scenario
from ivs_realtime_emulator.scenario import (
    ParticipantSpec,
    ReplicaSpec,
    Scenario,
    ScenarioError,
    SessionSpec,
    StageSpec,
)
from ivs_realtime_emulator.scenario_file import (
    DEMO_SCENARIO_PATH,
    bundled_scenarios,
    load_demo_scenario,
    load_scenario,
    open_scenario,
    parse_scenario,
    save_scenario,
    scenario_to_dict,
)
from ivs_realtime_emulator.server import Emulator, serve
from ivs_realtime_emulator.stats import RequestRecord, Stats

__all__ = [
    "DEMO_SCENARIO_PATH",
    "Emulator",
    "Faults",
    "FaultsError",
    "ParticipantSpec",
    "ReplicaSpec",
    "RequestRecord",
    "Scenario",
    "ScenarioError",
    "SessionSpec",
    "StageSpec",
    "Stats",
    "bundled_scenarios",
    "generate_scenario",
    "load_demo_scenario",
    "load_scenario",
    "open_scenario",
    "parse_scenario",
    "save_scenario",
    "scenario_to_dict",
    "serve",
]
