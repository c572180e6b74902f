package dev.shepherd;

import dev.shepherd.ctl.Ctl;
import dev.shepherd.demo.DemoWorker;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

import java.util.Arrays;

/**
 * Shepherd's entry point: {@code java -jar shepherd.jar} runs the master;
 * {@code java -jar shepherd.jar worker} runs the built-in demo worker and {@code java -jar shepherd.jar ctl …} the
 * command line, both before any Spring code loads.
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class ShepherdApplication {

    public static final String WORKER_COMMAND = "worker";

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && WORKER_COMMAND.equals(args[0])) {
            DemoWorker.main(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        if (args.length > 0 && Ctl.COMMAND.equals(args[0])) {
            Ctl.main(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        // Where TLS runs on the JDK's (no BoringSSL), a client must not renegotiate at will: each costs a full
        // handshake (an attacking helper forced 2,713 in 8 s on two connections). BoringSSL refuses it already.
        if (System.getProperty(REJECT_RENEGOTIATION) == null) {
            System.setProperty(REJECT_RENEGOTIATION, "true");
        }
        SecondInterrupt.install();
        SpringApplication.run(ShepherdApplication.class, args);
    }

    private static final String REJECT_RENEGOTIATION = "jdk.tls.rejectClientInitiatedRenegotiation";
}
