package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// EnvConfigPath names the environment variable Load reads the config file
// path from when it is called with path "".
const EnvConfigPath = "CHRONIK_CONFIG"

// Load returns the defaults overlaid with the TOML file at path and then
// with the CHRONIK_* variables of env (os.Environ() form, "KEY=value").
//
// path "" means $CHRONIK_CONFIG if set, else DefaultPath if it exists, else
// no file. An explicit path that does not exist is an error. Unknown keys,
// unknown CHRONIK_* variables and values of a wrong type or out of range are
// errors naming the key and value. Cross-key rules are left to Validate,
// which the caller runs after applying flags with Set.
func Load(path string, env []string) (Config, error) {
	return load(path, DefaultPath, env)
}

func load(path, defaultPath string, env []string) (Config, error) {
	c := Default()
	if path == "" {
		path = lookupEnv(env, EnvConfigPath)
	}
	if path == "" {
		switch _, err := os.Stat(defaultPath); {
		case err == nil:
			path = defaultPath
		case !errors.Is(err, fs.ErrNotExist):
			return Config{}, fmt.Errorf("checking default config file %s: %w", defaultPath, err)
		}
	}
	if path != "" {
		if err := c.applyFile(path); err != nil {
			return Config{}, err
		}
	}
	if err := c.applyEnv(env); err != nil {
		return Config{}, err
	}
	return c, nil
}

func lookupEnv(env []string, name string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val // last one wins, as with getenv on duplicated entries
		}
	}
	return v
}

// applyFile overlays the keys present in a TOML file.
func (c *Config) applyFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config file %s: %w", path, err)
	}
	raw := map[string]any{}
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return fmt.Errorf("parsing config file %s: %w", path, err)
	}
	bs := c.bindings()
	var errs []error
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			full := prefix + k
			v := m[k]
			if slices.Contains(sections, full) {
				sub, ok := v.(map[string]any)
				if !ok {
					errs = append(errs, fmt.Errorf("config key %q in %s must be a table ([%s]), got %s", full, path, full, tomlType(v)))
					continue
				}
				walk(full+".", sub)
				continue
			}
			i := slices.IndexFunc(bs, func(b binding) bool { return b.info.Key == full })
			if i < 0 {
				errs = append(errs, fmt.Errorf("unknown config key %q in %s%s", full, path, suggest(full)))
				continue
			}
			if err := bs[i].fromTOML(v); err != nil {
				errs = append(errs, fmt.Errorf("invalid value %s for config key %q in %s: %w", renderTOML(v), full, path, err))
				continue
			}
			if err := bs[i].check(); err != nil {
				errs = append(errs, fmt.Errorf("invalid value %s for config key %q in %s: %w", bs[i].render(), full, path, err))
			}
		}
	}
	walk("", raw)
	return errors.Join(errs...)
}

// applyEnv overlays CHRONIK_* variables; an unknown CHRONIK_* name is an error.
func (c *Config) applyEnv(env []string) error {
	byEnv := map[string]binding{}
	for _, b := range c.bindings() {
		byEnv[b.info.Env] = b
	}
	var errs []error
	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, "CHRONIK_") || name == EnvConfigPath {
			continue
		}
		b, ok := byEnv[name]
		if !ok {
			errs = append(errs, fmt.Errorf("unknown environment variable %s: no config key %q%s",
				name, envKey(name), suggest(envKey(name))))
			continue
		}
		if err := b.parse(val); err != nil {
			errs = append(errs, fmt.Errorf("invalid value %q for %s (config key %q): %w", val, name, b.info.Key, err))
			continue
		}
		if err := b.check(); err != nil {
			errs = append(errs, fmt.Errorf("invalid value %q for %s (config key %q): %w", val, name, b.info.Key, err))
		}
	}
	return errors.Join(errs...)
}

// envKey guesses the key an environment variable name was meant for.
func envKey(name string) string {
	return strings.ToLower(strings.TrimPrefix(name, "CHRONIK_"))
}

func renderTOML(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}
