"""The Files tab: models (`model`), the two trees, the conflict dialog, transfer rows, the panel."""
