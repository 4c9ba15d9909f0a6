"""Views that compute in the browser (anywidget), so they work on the static website too.

Python computes the data and stores it in the widget's state; the JavaScript beside this file
draws it and answers the reader's clicks with no kernel behind the page. Each view is a triplet
x.py / x.js / x.css; _base.py holds the Python checks they share, _common.js the JavaScript
helpers (put in front of every view's x.js).
"""

from book.widgets.attention import AttentionView
from book.widgets.boundary import BoundaryView
from book.widgets.descent import DescentView
from book.widgets.embedding import EmbeddingView
from book.widgets.lookup import LookupView
from book.widgets.lstm_gates import LSTMGateView
from book.widgets.model_cost import ModelCostView
from book.widgets.nexttoken import NextTokenView
from book.widgets.softmax import SoftmaxView

__all__ = [
    "AttentionView",
    "BoundaryView",
    "DescentView",
    "EmbeddingView",
    "LSTMGateView",
    "LookupView",
    "ModelCostView",
    "NextTokenView",
    "SoftmaxView",
]
