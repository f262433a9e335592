"""The proxy server: OpenAI-, Ollama- and Anthropic-compatible fronts, the router API, metrics and the dashboard."""
