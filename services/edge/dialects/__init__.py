"""Client wire formats the edge speaks (OpenAI chat, OpenAI legacy completions, Anthropic messages).

Each dialect turns its request body into a router ChatRequest and the router's stream back into its own
SSE events, assembled body and error shape; `services.edge.relay` runs the flow they share.
"""
