-- LiteLLM proxy's spend-log table, LiteLLM_SpendLogs, as the proxy's Prisma schema creates it in
-- PostgreSQL: one row per request the proxy served (or failed), with its spend in USD.
--
-- Source: github.com/BerriAI/litellm, schema.prisma at commit
-- 029f645f1c81cbd6c6c48fbc8490d91da937066f, model LiteLLM_SpendLogs (litellm/proxy/schema.prisma
-- at commit 0010143f7d5014454d81a0fa76e42c4110a00893 declares the same model). Translated as
-- `prisma migrate` writes it for PostgreSQL, cross-checked against LiteLLM's own migrations in
-- litellm-proxy-extras/litellm_proxy_extras/migrations/ (20250326162113_baseline at
-- 01f0e6ce9908542429e9ad8d675a04d042e02678, and the later ones that add columns and indexes):
--   String -> TEXT, Float -> DOUBLE PRECISION, Int -> INTEGER, DateTime -> TIMESTAMP(3)
--   (without time zone; LiteLLM writes UTC), Json -> JSONB; a field without `?` is NOT NULL;
--   @default("") -> DEFAULT '', @default("{}") -> DEFAULT '{}'; @id -> "<table>_pkey";
--   @@index([a, b]) -> "<table>_a_b_idx".
--
-- Column order is the schema's. A database that LiteLLM migrated over time has the same columns
-- in the order its migrations added them, and newer LiteLLM releases add columns: read by column
-- name, never by position or SELECT *.
--
-- The model has no columns for cached or reasoning tokens or for a cost breakdown: anything
-- beyond spend and the three token counts is in the JSONB columns (metadata), whose shape this
-- file does not pin.

-- CreateTable
CREATE TABLE "LiteLLM_SpendLogs" (
    "request_id" TEXT NOT NULL,
    "call_type" TEXT NOT NULL,
    "api_key" TEXT NOT NULL DEFAULT '',
    "spend" DOUBLE PRECISION NOT NULL DEFAULT 0.0,
    "total_tokens" INTEGER NOT NULL DEFAULT 0,
    "prompt_tokens" INTEGER NOT NULL DEFAULT 0,
    "completion_tokens" INTEGER NOT NULL DEFAULT 0,
    "startTime" TIMESTAMP(3) NOT NULL,
    "endTime" TIMESTAMP(3) NOT NULL,
    "request_duration_ms" INTEGER,
    "completionStartTime" TIMESTAMP(3),
    "model" TEXT NOT NULL DEFAULT '',
    "model_id" TEXT DEFAULT '',
    "model_group" TEXT DEFAULT '',
    "custom_llm_provider" TEXT DEFAULT '',
    "api_base" TEXT DEFAULT '',
    "user" TEXT DEFAULT '',
    "metadata" JSONB DEFAULT '{}',
    "cache_hit" TEXT DEFAULT '',
    "cache_key" TEXT DEFAULT '',
    "request_tags" JSONB DEFAULT '[]',
    "team_id" TEXT,
    "organization_id" TEXT,
    "end_user" TEXT,
    "requester_ip_address" TEXT,
    "messages" JSONB DEFAULT '{}',
    "response" JSONB DEFAULT '{}',
    "session_id" TEXT,
    "status" TEXT,
    "mcp_namespaced_tool_name" TEXT,
    "agent_id" TEXT,
    "proxy_server_request" JSONB DEFAULT '{}',

    CONSTRAINT "LiteLLM_SpendLogs_pkey" PRIMARY KEY ("request_id")
);

-- CreateIndex
CREATE INDEX "LiteLLM_SpendLogs_startTime_idx" ON "LiteLLM_SpendLogs"("startTime");

-- CreateIndex
CREATE INDEX "LiteLLM_SpendLogs_startTime_request_id_idx" ON "LiteLLM_SpendLogs"("startTime", "request_id");

-- CreateIndex
CREATE INDEX "LiteLLM_SpendLogs_end_user_idx" ON "LiteLLM_SpendLogs"("end_user");

-- CreateIndex
CREATE INDEX "LiteLLM_SpendLogs_session_id_idx" ON "LiteLLM_SpendLogs"("session_id");
