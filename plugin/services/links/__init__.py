"""Links: the link-state rule, issuing, opening, exporting and previewing personal links."""
