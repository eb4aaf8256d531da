"""Deploying the grader where courses grade: a Gradescope autograder bundle (gradescope.py), the
script it runs per submission (run.py) and the results.json it writes (results.py)."""
