"""Verdict: policies as data, decided with a full trace.

Typical use::

    from engine import require_policy, case_from_facts, decide
    policy = require_policy(Path("policies/aqara-returns"))
    decision = decide(policy, case_from_facts(policy, {"request": "return", ...}))
    decision.outputs["eligibility"].value
"""

from .api import BUNDLED_POLICIES as BUNDLED_POLICIES
from .api import PolicyEntry as PolicyEntry
from .api import case_from_facts as case_from_facts
from .api import decide as decide
from .api import decide_in_set as decide_in_set
from .api import discover as discover
from .api import load_case as load_case
from .api import load_policy as load_policy
from .api import policy_file as policy_file
from .api import load_policy_set as load_policy_set
from .api import require_policy as require_policy
from .api import require_policy_set as require_policy_set
from .api import resolve_policy as resolve_policy
from .cases import Case as Case
from .cases import coerce_text as coerce_text
from .errors import CaseError as CaseError
from .errors import Diagnostic as Diagnostic
from .errors import EngineError as EngineError
from .errors import PolicyError as PolicyError
from .errors import SourceLocation as SourceLocation
from .errors import did_you_mean as did_you_mean
from .model import Decision as Decision
from .model import Policy as Policy
from .model import PolicySet as PolicySet
from .render import TRACE_LEVELS as TRACE_LEVELS
from .render import clause_to_text as clause_to_text
from .render import decision_to_dict as decision_to_dict
from .render import decision_to_json as decision_to_json
from .render import decision_to_text as decision_to_text
from .version import ENGINE_VERSION as ENGINE_VERSION
