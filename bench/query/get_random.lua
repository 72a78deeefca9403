-- GET PREFIX .. <random log id> .. SUFFIX, ids from IDS_FILE (one a line), Basic site1:key1.
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
local prefix = os.getenv("PREFIX") or "/logs/"
local suffix = os.getenv("SUFFIX") or ""
local headers = { ["Authorization"] = "Basic c2l0ZTE6a2V5MQ==" }
math.randomseed(os.time())
request = function()
  return wrk.format("GET", prefix .. ids[math.random(#ids)] .. suffix, headers)
end
