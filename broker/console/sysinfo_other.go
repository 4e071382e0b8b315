//go:build !linux

package console

import "errors"

var errNoSysinfo = errors.New("not measured on this operating system")

func diskFree(string) (int64, error) { return 0, errNoSysinfo }

func memTotal() (int64, error) { return 0, errNoSysinfo }
