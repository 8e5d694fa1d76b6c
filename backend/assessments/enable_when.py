"""Which items are enabled by the answers given (FHIR enableWhen, enableBehavior any/all).

The logic lives in `shared.questionnaire` so that the client's live form and the server's
validation decide alike; see the rules stated there.
"""

from shared.questionnaire import compare, condition_holds, enabled_items

__all__ = ["compare", "condition_holds", "enabled_items"]
