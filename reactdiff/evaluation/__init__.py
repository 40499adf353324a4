"""Official REACT challenge metrics (exact, fast), naive baselines and the evaluate stage."""
