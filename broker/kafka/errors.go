package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// codeError is an error carrying a Kafka error code and a message for the client.
type codeError struct {
	code *kerr.Error
	msg  string
}

func (e *codeError) Error() string { return e.msg }
func (e *codeError) Unwrap() error { return e.code }

// errorf builds an error answered to the client with code and the formatted message.
func errorf(code *kerr.Error, format string, args ...any) error {
	return &codeError{code: code, msg: fmt.Sprintf(format, args...)}
}

// errCode maps err to a Kafka error code: 0 for nil, the wrapped *kerr.Error's code when there
// is one, REQUEST_TIMED_OUT for deadlines, otherwise fallback's code.
func errCode(err error, fallback *kerr.Error) int16 {
	if err == nil {
		return 0
	}
	if ke, ok := errors.AsType[*kerr.Error](err); ok {
		return ke.Code
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return kerr.RequestTimedOut.Code
	}
	return fallback.Code
}

// errMessage is the client-facing message of err (nil for nil).
func errMessage(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}
