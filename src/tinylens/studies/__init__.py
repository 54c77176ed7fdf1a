"""Studies: the named experiments, composing the pieces below into results and reports."""
