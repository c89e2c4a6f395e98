-- wrk script: each connection waits an exponentially distributed think time (mean
-- PACED_MEAN_MS) after each response, so that C connections offer about C * 1000 / mean
-- requests per second, arriving at random: a server at a set fraction of its capacity.
local mean = tonumber(os.getenv("PACED_MEAN_MS") or "10")

function delay()
  return -mean * math.log(1 - math.random())
end
