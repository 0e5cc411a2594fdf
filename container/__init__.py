"""The engine layer: sessions, image, firewall, tracking, transfers. Never imports Textual."""
