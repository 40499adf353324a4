"""Great Expectations validation of a REACT-layout drop, table by table."""
