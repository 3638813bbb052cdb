-- Who manages a contributor's account: NULL for one registered by hand
-- (chaosctl, an import, an admin), or the name of the controller that
-- registered it (e.g. chaos-operator). A controller may recover (reactivate,
-- re-key, deregister) only the accounts it manages, so creating a Contributor
-- under a known name can never take that account from its owner.
ALTER TABLE contributors ADD COLUMN manager TEXT;
