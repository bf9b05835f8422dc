"""Where :class:`sklenet.LeNetSearchCV` was defined before
:mod:`sklenet.model_selection`.

Pickles name a class by its module: a search pickled (``joblib.dump``) by an
earlier sklenet names ``sklenet._search.LeNetSearchCV`` and loads through this
module. Code imports ``LeNetSearchCV`` from :mod:`sklenet`.
"""

from .model_selection._search import LeNetSearchCV

__all__ = ["LeNetSearchCV"]
