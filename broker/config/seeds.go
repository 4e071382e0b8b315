package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Seed is one entry of cluster.seed_nodes.
type Seed struct {
	ID   uint64
	Addr string // host:port of the node's gRPC listener
}

func (s Seed) String() string { return strconv.FormatUint(s.ID, 10) + "@" + s.Addr }

// ParseSeedNodes parses the --seed-nodes form: comma-separated "ID@host:port"
// entries ("1@node1:9093,2@node2:9093"); "" is the empty list (bootstrap).
// Ids must be 1..2^31-1 and unique; ports 1..65535.
func ParseSeedNodes(s string) ([]Seed, error) { return parseSeedList(splitList(s)) }

func parseSeedList(l []string) ([]Seed, error) {
	seeds := make([]Seed, 0, len(l))
	seen := map[uint64]string{}
	for _, e := range l {
		s, err := parseSeed(strings.TrimSpace(e))
		if err != nil {
			return nil, fmt.Errorf("seed node %q: %w", e, err)
		}
		if prev, dup := seen[s.ID]; dup {
			return nil, fmt.Errorf("seed node %q: node id %d already used by %q", e, s.ID, prev)
		}
		seen[s.ID] = e
		seeds = append(seeds, s)
	}
	return seeds, nil
}

func parseSeed(e string) (Seed, error) {
	idText, addr, ok := strings.Cut(e, "@")
	if !ok {
		return Seed{}, errors.New(`must be "ID@host:port"`)
	}
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil || id < 1 || id > math.MaxInt32 {
		return Seed{}, fmt.Errorf("node id %q must be an integer between 1 and %d", idText, math.MaxInt32)
	}
	if err := checkHostPort(addr, true); err != nil {
		return Seed{}, fmt.Errorf("address %q: %w", addr, err)
	}
	return Seed{ID: id, Addr: addr}, nil
}
