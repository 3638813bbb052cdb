#!/bin/sh
# A cheat: the honest proxy, plus its own traffic to url-anvil (as many
# sequential requests as url-anvil answers), to pad "requests served".
i=0
while :; do
  for n in 1 2 3 4; do
    wget -q -O /dev/null --header "Content-Type: application/json" \
      --post-data "{\"urls\":[\"http://url-anvil:8080/corpus/$(( (i % 20) + 1 ))\"]}" \
      http://url-anvil:8080/api/test 2>/dev/null &
    i=$((i + 1))
  done
  wait
done &
exec nginx -g 'daemon off;'
