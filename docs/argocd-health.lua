-- Argo CD health check for sitesync.io resources: SiteReplicationGroup, BucketReplication and
-- IdentityProvider (docs/operations.md shows where it goes in argocd-cm).
--
-- The operator writes kstatus-style conditions (Ready, Reconciling, Degraded, Stalled, where
-- Reconciling and Stalled are abnormal-true) and status.observedGeneration. In order:
--   Progressing  no status yet, or status.observedGeneration behind metadata.generation
--   Degraded     Stalled=True (the spec cannot be acted on) or Degraded=True (a site failing)
--   Progressing  Reconciling=True (changes applied, being verified)
--   Healthy      Ready=True
--   Suspended    spec.paused (the operator observes but does not act)
--   Progressing  anything else (Ready=False or Unknown: not in sync yet)
-- Plain Lua 5.1 (Argo CD runs gopher-lua). test/install/argocd-health.ts implements the same
-- decision in TypeScript; the integration tests run both against real status objects.
local hs = {}

local function condition(conditions, kind)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function isTrue(c)
  return c ~= nil and c.status == "True"
end

local function describe(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c ~= nil and c.reason ~= nil and c.reason ~= "" then
    return c.reason
  end
  return fallback
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the sitesync operator to report status"
  return hs
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if observed == nil or (generation ~= nil and observed ~= generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the sitesync operator to observe generation " .. tostring(generation)
  return hs
end

local conditions = obj.status.conditions
-- The first true condition in this order decides.
local verdicts = {
  { "Stalled", "Degraded" },
  { "Degraded", "Degraded" },
  { "Reconciling", "Progressing" },
  { "Ready", "Healthy" },
}
for _, v in ipairs(verdicts) do
  local c = condition(conditions, v[1])
  if isTrue(c) then
    hs.status = v[2]
    hs.message = describe(c, v[1])
    return hs
  end
end

local ready = condition(conditions, "Ready")

if obj.spec ~= nil and obj.spec.paused == true then
  hs.status = "Suspended"
  hs.message = describe(ready, "spec.paused is true")
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready, "Waiting for Ready")
return hs
