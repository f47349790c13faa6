print("llmtune")
