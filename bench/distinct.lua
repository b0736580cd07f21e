-- wrk script of bench/run.sh: each request carries one of the first N tokens of a file (one
-- token per line), so the API sees N distinct users.
--   wrk … -s bench/distinct.lua URL -- TOKEN_FILE N
-- DISTINCT_MODE=seq walks the tokens in order (the warm-up: fills the verified-token cache);
-- otherwise each request picks a token at random.
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local tokens, n, i, headers, random
function init(args)
  local path, limit = args[1], tonumber(args[2])
  tokens, n = {}, 0
  for line in io.lines(path) do
    if n >= limit then break end
    n = n + 1
    tokens[n] = "Bearer " .. line
  end
  headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  random = os.getenv("DISTINCT_MODE") ~= "seq"
  i = math.floor((tid or 0) * n / 2)
  math.randomseed(os.time() * 7919 + (tid or 0))
end

function request()
  if random then
    headers["Authorization"] = tokens[math.random(n)]
  else
    i = i % n + 1
    headers["Authorization"] = tokens[i]
  end
  return wrk.format(nil, nil, headers)
end
