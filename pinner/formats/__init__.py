"""How results are written: text, JSON, SARIF 2.1.0, GitHub annotations, markdown."""
