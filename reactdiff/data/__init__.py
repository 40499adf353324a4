"""The REACT data: its format (``format``), layout, readers, emotions of a split in sample order,
appropriateness, and the synthetic generator."""
