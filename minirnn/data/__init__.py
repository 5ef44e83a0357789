"""Data: the built-in series (generated from a seed, nothing downloaded), users' CSV files,
and the forecasting task a model trains on.

    import minirnn as mr
    s = mr.data.narendra(600)            # a Series: s.inputs (T, I), s.targets (T, O)
    x, target = mr.data.adding_problem(32, 50)

``series.py`` makes the numeric series and reads CSV files, ``dates.py`` reads their dates
(layouts, the step between rows and its seasonal period, time order, gaps), ``text.py`` the
sentence corpus,
``adding.py`` the adding problem, ``task.py`` the split, scaling and metrics (the naive and
seasonal naive baselines), ``transforms.py`` the invertible steps between the targets and the
model (log and Box-Cox, differencing and seasonal differencing), ``sources.py`` either kind
of source by name.
"""
from .adding import BASELINE_MSE, adding_problem
from .series import DataError, Series, load_csv, memory_task, narendra, sine, stock
from .sources import BUILTIN, load_series
from .task import ForecastTask, Scaler, make_task, metrics
from .text import meat_sentences, vocabulary
from .transforms import TargetSteps, boxcox, fit_boxcox_lambda, inverse_boxcox

__all__ = ["Series", "DataError", "sine", "stock", "narendra", "memory_task", "load_csv",
           "load_series", "BUILTIN", "adding_problem", "BASELINE_MSE", "meat_sentences",
           "vocabulary", "make_task", "ForecastTask", "Scaler", "metrics", "TargetSteps",
           "boxcox", "inverse_boxcox", "fit_boxcox_lambda"]
