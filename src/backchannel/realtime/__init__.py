"""Live chat: client sessions over WebSocket, and the broker that fans events out to them."""
