"""Provider prices: the genai-prices catalog exported as flat price rules, and model resolution."""
