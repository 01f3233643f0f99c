"""``NetTrain``: data forms, batching, optimisers, schedules, validation, stopping, progress and
the results object."""

from netchain.train.nettrain import NetTrain, NetTrainResults, Objective, Trainer, TrainingWarning
from netchain.train.optimizers import ADAM, SGD, Optimizer, RMSProp, make_optimizer

__all__ = [
    "ADAM",
    "SGD",
    "NetTrain",
    "NetTrainResults",
    "Objective",
    "Optimizer",
    "RMSProp",
    "Trainer",
    "TrainingWarning",
    "make_optimizer",
]
