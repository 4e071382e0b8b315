// kafkabench measures produce and consume throughput and produce latency against a Kafka
// broker address, or against franz-go's in-memory fake broker (kfake) started in-process,
// so both can be printed side by side from one run.
//
//	kafkabench -brokers 127.0.0.1:9092 -records 1000000 -size 1024 -acks 1
//	kafkabench -kfake -records 1000000 -size 1024 -acks all
//
// It prints one line of key=value figures (produce_mb_s, produce_rec_s, p50_ms, p99_ms,
// p999_ms, consume_mb_s) that scripts/bench-standalone.sh turns into a table.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func main() {
	brokers := flag.String("brokers", "", "bootstrap broker host:port (empty with -kfake)")
	useFake := flag.Bool("kfake", false, "start franz-go's in-memory kfake broker and measure it")
	records := flag.Int("records", 1_000_000, "records to produce")
	size := flag.Int("size", 1024, "record value size in bytes")
	acks := flag.String("acks", "1", "acks: 0, 1 or all")
	partitions := flag.Int("partitions", 1, "partitions of the benchmark topic")
	topic := flag.String("topic", "", "topic (default: bench-<acks>-<unix time>)")
	label := flag.String("label", "", "label printed with the figures")
	serveFake := flag.Int("serve-kfake", 0, "only run a kfake broker on this loopback port until SIGTERM (measure it out of process, like the broker)")
	flag.Parse()

	if *serveFake != 0 {
		if err := serveKfake(*serveFake); err != nil {
			fmt.Fprintln(os.Stderr, "kafkabench:", err)
			os.Exit(1)
		}
		return
	}

	if err := run(*brokers, *useFake, *records, *size, *acks, *partitions, *topic, *label); err != nil {
		fmt.Fprintln(os.Stderr, "kafkabench:", err)
		os.Exit(1)
	}
}

// serveKfake runs kfake on 127.0.0.1:port until SIGINT/SIGTERM.
func serveKfake(port int) error {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port))
	if err != nil {
		return fmt.Errorf("starting kfake on port %d: %w", port, err)
	}
	defer c.Close()
	fmt.Println("kfake listening on", c.ListenAddrs()[0])
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return nil
}

func run(brokers string, useFake bool, records, size int, acks string, partitions int, topic, label string) error {
	if useFake {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(partitions)))
		if err != nil {
			return fmt.Errorf("starting kfake: %w", err)
		}
		defer c.Close()
		brokers = c.ListenAddrs()[0]
		if label == "" {
			label = "kfake"
		}
	}
	if brokers == "" {
		return fmt.Errorf("need -brokers or -kfake")
	}
	if topic == "" {
		topic = fmt.Sprintf("bench-%s-%d", acks, time.Now().UnixNano())
	}
	var ack kgo.Acks
	opts := []kgo.Opt{kgo.SeedBrokers(brokers), kgo.ProducerBatchMaxBytes(1 << 20), kgo.MaxBufferedRecords(100_000),
		kgo.ProducerBatchCompression(kgo.NoCompression())}
	switch acks {
	case "0":
		ack = kgo.NoAck()
		opts = append(opts, kgo.DisableIdempotentWrite())
	case "1":
		ack = kgo.LeaderAck()
		opts = append(opts, kgo.DisableIdempotentWrite())
	case "all", "-1":
		ack = kgo.AllISRAcks()
	default:
		return fmt.Errorf("acks %q: want 0, 1 or all", acks)
	}
	opts = append(opts, kgo.RequiredAcks(ack), kgo.ProducerLinger(0))

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := createTopic(ctx, cl, topic, partitions); err != nil {
		return err
	}

	// Random values: compressible data would measure the codec, not the broker.
	value := make([]byte, size)
	if _, err := rand.Read(value); err != nil {
		return err
	}
	lat := make([]time.Duration, records)
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < records; i++ {
		i := i
		sent := time.Now()
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Topic: topic, Value: value}, func(_ *kgo.Record, err error) {
			defer wg.Done()
			lat[i] = time.Since(sent)
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
		})
	}
	wg.Wait()
	produceDur := time.Since(start)
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d of %d records failed, first: %v", n, records, firstErr.Load())
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds()) / 1000
	}
	totalMB := float64(records*size) / 1e6

	consumeDur, err := consume(ctx, brokers, topic, records)
	if err != nil {
		return err
	}
	fmt.Printf("label=%s acks=%s records=%d size=%d produce_mb_s=%.1f produce_rec_s=%.0f p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f consume_mb_s=%.1f\n",
		label, acks, records, size, totalMB/produceDur.Seconds(), float64(records)/produceDur.Seconds(),
		pct(0.50), pct(0.99), pct(0.999), totalMB/consumeDur.Seconds())
	return nil
}

func createTopic(ctx context.Context, cl *kgo.Client, topic string, partitions int) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic = topic
	rt.NumPartitions = int32(partitions)
	rt.ReplicationFactor = 1
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 30000
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	if code := resp.Topics[0].ErrorCode; code != 0 && code != 36 { // 36: already exists
		return fmt.Errorf("create topic %s: error code %d", topic, code)
	}
	return nil
}

func consume(ctx context.Context, brokers, topic string, records int) (time.Duration, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(64<<20), kgo.FetchMaxPartitionBytes(16<<20))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	start := time.Now()
	got := 0
	for got < records {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("consumed %d of %d: %w", got, records, err)
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) { ferr = fmt.Errorf("fetch %s/%d: %w", t, p, err) })
		if ferr != nil {
			return 0, ferr
		}
		got += fs.NumRecords()
	}
	return time.Since(start), nil
}
