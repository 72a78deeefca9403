-- GET the path in PATH_TO_GET with Basic site1:key1.
local path = os.getenv("PATH_TO_GET")
local headers = { ["Authorization"] = "Basic c2l0ZTE6a2V5MQ==" }
request = function() return wrk.format("GET", path, headers) end
