"""xl-pricing: price university–industry research collaborations from a rate card.

>>> from xl_pricing import load_card, load_project, quote
>>> q = quote(load_project("templates/projects/x-cost-joint.toml"), load_card())
"""

from .errors import InputError
from .pricing import Quote, quote
from .project import Project, load_project, parse_project
from .rates import RateCard, load_card

__version__ = "0.1.0"
__all__ = ["InputError", "Quote", "quote", "Project", "load_project", "parse_project",
           "RateCard", "load_card", "__version__"]
