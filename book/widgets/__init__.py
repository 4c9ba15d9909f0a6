"""Views that compute in the browser (anywidget), so they work on the static website too.

Python computes the data and stores it in the widget's state; the JavaScript beside this file
draws it and answers the reader's clicks with no kernel behind the page.
"""

from book.widgets.boundary import BoundaryView
from book.widgets.descent import DescentView
from book.widgets.embedding import EmbeddingView
from book.widgets.lookup import LookupView
from book.widgets.nexttoken import NextTokenView
from book.widgets.views import AttentionView, LSTMGateView, SoftmaxView

__all__ = [
    "AttentionView",
    "BoundaryView",
    "DescentView",
    "EmbeddingView",
    "LSTMGateView",
    "LookupView",
    "NextTokenView",
    "SoftmaxView",
]
