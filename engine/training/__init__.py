"""Training: the session that trains, the jobs that run it, and what it saves.

session      TrainingSession: state machine, events, snapshots   jobs         the one job protocol + scheduler
experiments  side-by-side runs                                   autoencoder  the exercise's autoencoder
checkpoint   save/load a session or a model                      runlog       a run's JSON log, CSV curves
"""
