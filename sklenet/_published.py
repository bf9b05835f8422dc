"""The LeNet study's published results, as data for the report.

Means and standard deviations over 10 trainings on the 60/20/20 split of
Kaggle's 42,000-digit ``train.csv``; ROC AUC is one-vs-rest, per digit. The
keys are the study's model types of :data:`sklenet._recipes.MODEL_TYPES`
("best" is sklenet's own and has no published numbers).
"""

#: model -> split -> (mean, std) of the accuracy.
ACCURACY = {
    "standard": {"train": (0.967, 0.007), "validation": (0.968, 0.005),
                 "test": (0.965, 0.005)},
    "optimized": {"train": (0.975, 0.005), "validation": (0.979, 0.004),
                  "test": (0.978, 0.003)},
    "ensemble": {"train": (0.975, 0.002), "validation": (0.979, 0.001),
                 "test": (0.985, 0.001)},
}

#: model -> ROC AUC of digits 0 to 9.
ROC_AUC = {
    "standard": (0.9997, 0.9996, 0.9982, 0.9982, 0.9991, 0.9985, 0.9996, 0.9996,
                 0.9982, 0.9976),
    "optimized": (0.9999, 0.9997, 0.9993, 0.9991, 0.9996, 0.9996, 0.9998, 0.9998,
                  0.9995, 0.9985),
    "ensemble": (0.99998, 0.99991, 0.99977, 0.9995, 0.99986, 0.99986, 0.99995,
                 0.99995, 0.99976, 0.99924),
}

#: The study's protocol, for the report's settings table.
SETTINGS = {
    "data": "Kaggle Digit Recognizer train.csv, 42,000 digits",
    "evaluation split": "25,200 / 8,400 / 8,400 (60/20/20)",
    "deployment split": "29,400 / 12,600 (70/30)",
    "repeats per model": 10,
    "search trials": 200,
    "ensemble members": 10,
    "learning-curve trainings per size": 20,
    "images used": "all",
    "max epochs": 100,
    "early-stopping patience": "5 (10 for learning curves)",
    "learning-curve sizes": "not published",
    "convergence curves": "a training on the deployment split (70/30)",
    "random_state": "not published",
}
