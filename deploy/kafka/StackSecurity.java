// The local stack's Kafka users and ACLs, through Kafka's Admin API (run by deploy/local/kafka.sh
// with the broker's own jars: `java -cp 'libs/*' StackSecurity.java ...`, no build step).
//
//   StackSecurity apply  CLIENT_PROPERTIES ACL_FILE TOPIC_PREFIX APP_ID [SECRETS_DIR]
//   StackSecurity remove CLIENT_PROPERTIES ACL_FILE TOPIC_PREFIX APP_ID
//
// apply: every SECRETS_DIR/<user>.password becomes (or stays) the SCRAM-SHA-512 credential of
// <user>, then every rule of ACL_FILE (deploy/kafka/acls.txt) is created with @PREFIX@ and
// @APP_ID@ filled in. remove: deletes exactly those rules. Passwords are read from files, never
// from the command line, and never printed.
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class StackSecurity {
    public static void main(String[] args) throws Exception {
        if (args.length < 5 || !(args[0].equals("apply") || args[0].equals("remove"))) {
            System.err.println("usage: StackSecurity apply|remove CLIENT_PROPERTIES ACL_FILE PREFIX APP_ID [SECRETS_DIR]");
            System.exit(2);
        }
        Properties client = new Properties();
        try (var reader = Files.newBufferedReader(Path.of(args[1]), StandardCharsets.UTF_8)) {
            client.load(reader);
        }
        List<AclBinding> acls = parseAcls(Path.of(args[2]), args[3], args[4]);
        try (Admin admin = Admin.create(client)) {
            if (args[0].equals("remove")) {
                List<AclBindingFilter> filters = new ArrayList<>();
                for (AclBinding acl : acls) filters.add(acl.toFilter());
                admin.deleteAcls(filters).all().get();
                System.out.println("removed " + acls.size() + " ACLs");
                return;
            }
            if (args.length > 5) {
                List<UserScramCredentialAlteration> users = new ArrayList<>();
                try (DirectoryStream<Path> files = Files.newDirectoryStream(Path.of(args[5]), "*.password")) {
                    for (Path file : files) {
                        String name = file.getFileName().toString().replaceFirst("\\.password$", "");
                        String password = Files.readAllLines(file, StandardCharsets.UTF_8).get(0).strip();
                        users.add(new UserScramCredentialUpsertion(
                            name, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password));
                    }
                }
                admin.alterUserScramCredentials(users).all().get();
                System.out.println("SCRAM-SHA-512 users: " + users.size());
            }
            admin.createAcls(acls).all().get();
            System.out.println("ACLs: " + acls.size());
        }
    }

    // One rule a line: PRINCIPAL RESOURCE_TYPE PATTERN_TYPE NAME OPERATION[,OPERATION...]
    static List<AclBinding> parseAcls(Path file, String prefix, String appId) throws Exception {
        List<AclBinding> acls = new ArrayList<>();
        int number = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            number++;
            String text = line.replaceFirst("#.*", "").strip();
            if (text.isEmpty()) continue;
            String[] f = text.split("\\s+");
            if (f.length != 5) throw new IllegalArgumentException(file + ":" + number + ": expected 5 fields");
            String name = f[3].replace("@PREFIX@", prefix).replace("@APP_ID@", appId);
            ResourcePattern pattern = new ResourcePattern(
                ResourceType.fromString(f[1].toUpperCase(Locale.ROOT)), name,
                PatternType.fromString(f[2].toUpperCase(Locale.ROOT)));
            for (String operation : f[4].split(",")) {
                AclOperation op = AclOperation.fromString(operation.toUpperCase(Locale.ROOT));
                if (op == AclOperation.UNKNOWN || pattern.resourceType() == ResourceType.UNKNOWN
                        || pattern.patternType() == PatternType.UNKNOWN) {
                    throw new IllegalArgumentException(file + ":" + number + ": unknown name in " + text);
                }
                acls.add(new AclBinding(pattern, new AccessControlEntry(
                    "User:" + f[0], "*", op, AclPermissionType.ALLOW)));
            }
        }
        return acls;
    }
}
