# Wiring between the container groups of a Terraform plan (terraform show
# -json): every file a command names lies in a volume mounted at that path
# (and is a key of it when the plan knows the keys); the port the workers
# dial is the one the master listens on, opens and exposes; the web port is
# open. Prints one line per problem.
def groups: [.resource_changes[] | select(.type == "azurerm_container_group" and (.change.actions | index("create") or index("update") or index("no-op")))];
def arg($cmd; $flag): ($cmd | index($flag)) as $i | if $i == null then null else $cmd[$i + 1] end;
def files_ok($g):
  $g.change.after.container[0] as $c
  | ($c.commands // []) as $cmd
  | ["-f", "--tls-cert", "--tls-key", "--tls-ca", "--cluster-token-file", "--web-auth-file"][] as $flag
  | arg($cmd; $flag) as $path
  | select($path != null)
  | [($c.volume // [])[] | select(.mount_path as $mp | $path | startswith($mp + "/"))] as $vols
  | if ($vols | length) == 0 then "\($g.address): \($flag) \($path) is in no mounted volume (mounts: \([($c.volume // [])[].mount_path] | join(", ")))"
    else ($vols[0] as $v | ($path | ltrimstr($v.mount_path + "/")) as $key
      | if (($v.secret // {}) | length) > 0 and (($v.secret | has($key)) | not) then "\($g.address): \($flag) \($path): the volume at \($v.mount_path) has no \($key) (it has \($v.secret | keys | join(", ")))" else empty end)
    end;
groups as $gs
| ($gs | map(select(.address | startswith("azurerm_container_group.master")))) as $masters
| ($gs | map(select(.address | startswith("azurerm_container_group.worker")))) as $workers
| (
    ($gs[] | files_ok(.)),
    ($masters[] | .change.after as $m | ($m.container[0].commands) as $cmd
      | ((arg($cmd; "--master-bind-port") // "5557") | tonumber) as $listen
      | ([$m.container[0].ports[]?.port]) as $open
      | ([$m.exposed_port[]?.port]) as $exposed
      | (if ($open | index($listen)) == null or ($exposed | index($listen)) == null then "master: listens for workers on \($listen) but opens \($open) and exposes \($exposed)" else empty end),
        (arg($cmd; "--web-port") as $web | select($web != null) | ($web | tonumber) as $w
          | if ($open | index($w)) == null or ($exposed | index($w)) == null then "master: web UI on \($w) but opens \($open) and exposes \($exposed)" else empty end),
        ($workers[] | .address as $a | (arg(.change.after.container[0].commands; "--master-port") // "5557" | tonumber) as $dial
          | if $dial != $listen then "\($a): dials the master on \($dial), the master listens on \($listen)" else empty end)
    )
  )
