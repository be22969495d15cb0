"""The gateway manager: runs (or finds) the Client Portal Gateway, keeps its session alive, asks a person for help.

    from ibkr import GatewayManager, AuthState

    manager = GatewayManager(Settings()).start()
    manager.on_prompt(queue_for_the_ui)       # Prompt(kind, message, actions, login_url)
    manager.state                              # AuthState.AUTHENTICATED
    manager.take_over()                        # after a COMPETING_SESSION prompt
    manager.stop()

Private modules, re-exported here: ``_state`` (AuthState, tickle parsing), ``_prompts`` (Prompt, PromptKind,
PromptAction), ``_http`` (the manager's own HTTP session), ``_process`` (IBKR's gateway process, checks, restart
policy), ``_simulator`` (the simulated gateway as a command: SimProcess, SimGateway), ``_keepalive`` (the thread), ``_record`` (state history, prompt dispatch, GatewayStatus), ``_actions`` (a person's action and
its outcome in words: perform, available, CONFIRM), ``_manager``.
Operators: ``python -m ibkr.gateway status|start|stop``.
"""

from ibkr.gateway._actions import CONFIRM, ActionOutcome, available, perform
from ibkr.gateway._manager import GatewayManager
from ibkr.gateway._process import RestartPolicy, default_log_dir, default_state_dir
from ibkr.gateway._prompts import Prompt, PromptAction, PromptKind
from ibkr.gateway._record import GatewayStatus
from ibkr.gateway._simulator import SimGateway, SimProcess
from ibkr.gateway._state import AuthState, Probe, parse_tickle, parse_tickle_body

__all__ = [
    "CONFIRM",
    "ActionOutcome",
    "AuthState",
    "GatewayManager",
    "GatewayStatus",
    "Probe",
    "Prompt",
    "PromptAction",
    "PromptKind",
    "RestartPolicy",
    "SimGateway",
    "SimProcess",
    "available",
    "default_log_dir",
    "default_state_dir",
    "parse_tickle",
    "parse_tickle_body",
    "perform",
]
