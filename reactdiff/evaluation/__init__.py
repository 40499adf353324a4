"""Official REACT challenge metrics (exact, fast), naive baselines, model predictions, reports."""
